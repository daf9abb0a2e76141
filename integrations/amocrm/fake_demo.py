"""A handful of Russian contacts and deals for a fresh ``FakeAmo``, so that a first sync
(``manage.py amocrm_fake``, the demo) has something to bring in."""

import datetime

from integrations.amocrm.config import LOST, WON

CONTACTS = (
    ("Иванов Иван Иванович", "+79161234501", datetime.date(1985, 3, 14), "Мужской"),
    ("Петрова Анна Сергеевна", "+79161234502", datetime.date(1992, 7, 2), "Женский"),
    ("Сидоров Павел Андреевич", "89161234503", None, "Мужской"),
    ("Кузнецова Мария Олеговна", "+7 916 123-45-04", datetime.date(1978, 11, 30), None),
    ("Смирнов Дмитрий", "+79161234505", None, None),
    ("Волкова Елена Викторовна", "+79161234506", datetime.date(2001, 1, 9), "Женский"),
    ("Новиков Артём", "+79161234507", datetime.date(2015, 5, 21), "Мужской"),
    ("Фёдорова Ольга Ивановна", "+79161234508", datetime.date(1964, 9, 17), "Женский"),
)
# (contact index, deal name, stage name or id, price)
LEADS = (
    (0, "Консультация ортодонта", "Первичный контакт", 0),
    (1, "Профессиональная чистка", "Записан", 4500),
    (2, "Лечение кариеса", "Подтверждён", 6200),
    (3, "Имплантация: консультация", "Пришёл", 1500),
    (5, "Отбеливание", WON, 18000),
    (7, "Протезирование", LOST, 56000),
)


def seed_demo(fake) -> None:
    """Fill ``fake`` (a ``FakeAmo``) with the demo account, as its managers made it."""
    contact_ids = []
    for name, phone, birthday, gender in CONTACTS:
        contact = fake.ui_add_contact(name, phone=phone, birthday=birthday, gender=gender)
        contact_ids.append(contact["id"])
    for contact_index, name, stage, price in LEADS:
        status_id = stage if isinstance(stage, int) else fake.status_id(stage)
        fake.ui_add_lead(
            name, contact_id=contact_ids[contact_index], status_id=status_id, price=price
        )
