"""The reference-book framework: one list-and-edit UI for the many small editable lists.

    register(ReferenceBook("genders", _("Genders"), Gender))

Each book is also a recycle-bin section: deactivating an entry sends it there.
"""

from dataclasses import dataclass, field

from django import forms
from django.db.models import Q, QuerySet
from django.utils.functional import Promise

from clinic import trash
from clinic.models import ReferenceItem


@dataclass(frozen=True)
class ReferenceBook:
    key: str
    label: Promise | str
    model: type[ReferenceItem]
    fields: tuple[str, ...] = ("name",)
    fixed: dict = field(default_factory=dict)
    description: Promise | str = ""
    icon: str = "list-ul"
    # Fixed lists (visit statuses) may be renamed and recoloured but not added to or removed.
    can_add: bool = True
    can_deactivate: bool = True
    # The fields the list's search box looks in (a code as well as the name, for ICD-10).
    search_fields: tuple[str, ...] = ("name",)
    # The URL name of a dedicated screen, for a book whose entries are more than a form
    # (plan templates have lines): the index and the book's URL lead there instead.
    screen: str = ""
    # The URL name of an entry's own page on that screen (it takes the entry's pk); the
    # book's generic entry URL leads there, so that nobody edits half of an entry.
    item_screen: str = ""

    def items(self) -> QuerySet:
        related = [name for name in self.fields if self.model._meta.get_field(name).many_to_one]
        return (
            self.model.objects.filter(**self.fixed)
            .select_related(*related)
            .order_by("position", "name")
        )

    def search(self, items: QuerySet, query: str) -> QuerySet:
        condition = Q()
        for name in self.search_fields:
            condition |= Q(**{f"{name}__icontains": query})
        return items.filter(condition)

    def form_class(self) -> type[forms.ModelForm]:
        return forms.modelform_factory(self.model, fields=self.fields)

    def new_instance(self) -> ReferenceItem:
        return self.model(**self.fixed)

    def columns(self) -> list[str]:
        """Verbose names of the fields after the name, for the list's header."""
        return [
            str(self.model._meta.get_field(name).verbose_name)  # type: ignore[union-attr]
            for name in self.fields[1:]
        ]

    def cells(self, item: ReferenceItem) -> list[dict]:
        """The list's cells of one entry: choice labels, numbers, colours as swatches."""
        cells = []
        for name in self.fields[1:]:
            field = self.model._meta.get_field(name)
            value = getattr(item, name)
            if getattr(field, "choices", None):
                value = getattr(item, f"get_{name}_display")()
            cells.append({"value": value, "is_color": name == "color"})
        return cells


_books: dict[str, ReferenceBook] = {}


def register(book: ReferenceBook) -> ReferenceBook:
    _books[book.key] = book
    if not book.can_deactivate:
        return book
    trash.register(
        trash.TrashSection(
            key=f"reference-{book.key}",
            label=book.label,
            model=book.model,
            module="references",
            filters=book.fixed,
        )
    )
    return book


def books() -> list[ReferenceBook]:
    return list(_books.values())


def get_book(key: str) -> ReferenceBook | None:
    return _books.get(key)
