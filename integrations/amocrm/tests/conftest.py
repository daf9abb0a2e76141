import pytest

from clinic.models import ProfessionKind
from clinic.tests.factories import ChairFactory, EmployeeFactory, ProfessionFactory
from integrations.amocrm.fake import FakeAmo


@pytest.fixture
def fake_amo():
    """A started ``FakeAmo`` (defaults: 7 requests a second, webhooks delivered on call)."""
    with FakeAmo() as fake:
        yield fake


@pytest.fixture
def hook_post(client):
    """Deliver the fake's webhooks to Odonta through the Django test client."""

    def post(destination: str, body: bytes, headers: dict) -> int:
        path = destination.split("://", 1)[-1].split("/", 1)[-1]
        response = client.generic(
            "POST", "/" + path, body, content_type=headers.get("Content-Type", "")
        )
        return response.status_code

    return post


@pytest.fixture
def amo(db, hook_post):
    """A connected, set-up amoCRM (the fake, without its rate limit) and the loop that runs
    the sync's workers (``amo.sync()``)."""
    from clinic.tests.factories import GenderFactory
    from integrations.amocrm.testing import AmoWorld

    male = GenderFactory(name="Мужской")
    female = GenderFactory(name="Женский")
    with FakeAmo(rps=None) as fake:
        world = AmoWorld.connect(
            fake, genders={str(male.pk): "Мужской", str(female.pk): "Женский"}, post=hook_post
        )
        world.male, world.female = male, female  # type: ignore[attr-defined]
        yield world


@pytest.fixture
def desk(branch, registrar):
    doctor = EmployeeFactory(
        last_name="Терапевтова",
        first_name="Анна",
        branches=[branch],
        professions=[ProfessionFactory(name="Терапевт", kind=ProfessionKind.DOCTOR)],
    )
    return {
        "branch": branch,
        "chair": ChairFactory(branch=branch),
        "doctor": doctor,
        "user": registrar.user,
    }


@pytest.fixture(autouse=True)
def _pages_in_english(request):
    """The settings pages' tests read their messages in English (the msgids); Russian is
    what a clinic sees and what the browser test reads."""
    if "client" in request.fixturenames:
        request.getfixturevalue("client").defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
