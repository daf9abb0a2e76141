"""One spelling of the brand in the interface: the login page's, in the demo's sidebar too."""

import pytest
from django.test import Client
from django.urls import reverse

from clinic import demo
from clinic.models import Branch, Organization

pytestmark = pytest.mark.django_db

BRAND = "Odonta"


def test_the_demo_spells_the_brand_as_the_login_page_does(admin_client):
    Branch.objects.create(name="Одонта на Тверской", time_zone="Europe/Moscow")  # an older demo
    demo.seed_organization()
    login = Client().get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert f"</span> {BRAND}</div>" in login
    home = admin_client.get("/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert f'<span class="app-brand-name">{BRAND}</span>' in home
    assert Organization.objects.get().name == BRAND
    demo_branches = Branch.objects.filter(name__in=demo.DEMO_BRANCH_RENAMES.values())
    assert demo_branches.count() == 2
    assert not Branch.objects.filter(name__in=demo.DEMO_BRANCH_RENAMES.keys()).exists()
