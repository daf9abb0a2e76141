"""Django's admin site is not part of Odonta.

It let any ``is_staff`` user edit rights groups and periodic tasks past the services, so
without an audit entry. Every change goes through the application's own screens instead.
"""

from django.conf import settings

from clinic.testing_urls import ROUTES


def test_the_admin_site_is_not_installed():
    assert "django.contrib.admin" not in settings.INSTALLED_APPS
    assert not [route.path for route in ROUTES if route.path.startswith("admin/")]


def test_admin_urls_answer_404_even_to_a_superuser(admin_client):
    for url in ("/admin/", "/admin/auth/group/", "/admin/login/"):
        assert admin_client.get(url).status_code == 404, url
