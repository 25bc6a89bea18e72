"""The scripts test_install.py runs inside a freshly made project: an app of "another team",
and the admin check run by ``manage.py shell -c``."""

# The app of "another team": a foreign key without an index (db_index=False), which the index
# audit must find on a schema that is not ours, and an index declared in Meta.indexes.
SHOP_MODELS = """
from django.db import models


class Category(models.Model):
    name = models.CharField(max_length=100, unique=True)


class Product(models.Model):
    category = models.ForeignKey(Category, on_delete=models.CASCADE, db_index=False)
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        indexes = [models.Index(fields=["name", "price"], name="product_name_price_idx")]
"""

# The access docs/perfaudit.md documents for perfaudit's admin pages, in ONE place: when the
# documented permissions change, change this function (it runs inside the new project).
# Today (docs/perfaudit.md, "Access"): a staff user (not a superuser) holding perfaudit's
# permissions: view_dashboard for every page, the others for the pages that act.
GRANT_DOCUMENTED_ACCESS = """
def grant_documented_access(user):
    from django.contrib.auth.models import Permission

    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="perfaudit"))
"""

# Every URL of perfaudit's ModelAdmins (found through the admin site, not a list kept here), as
# a staff user with the documented access, then anonymous and as an active non-staff user.
ADMIN_CHECK = (
    GRANT_DOCUMENTED_ACCESS
    + """
import json
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse

TEXT_OF = {"perfaudit_overview", "perfaudit_queries"}
setup_test_environment()  # 'testserver' in ALLOWED_HOSTS
User = get_user_model()
staff = User.objects.create_user("pa-staff", password="pw-staff-1")
grant_documented_access(staff)
plain = User.objects.create_user("pa-plain", password="pw-plain-1")
names = sorted(
    pattern.name
    for model, model_admin in admin.site._registry.items()
    if model._meta.app_label == "perfaudit"
    for pattern in model_admin.get_urls()
    if pattern.name and not pattern.pattern.converters
)
as_staff, as_plain, anonymous = Client(), Client(), Client()
as_staff.force_login(staff)
as_plain.force_login(plain)
pages = {}
for name in names:
    url = reverse("admin:" + name)
    response = as_staff.get(url)
    pages[name] = {
        "url": url,
        "staff": response.status_code,
        "text": response.content.decode() if name in TEXT_OF else "",
        "plain": as_plain.get(url).status_code,
        "anonymous": anonymous.get(url).get("Location", ""),
    }
print(json.dumps(pages))
"""
)
