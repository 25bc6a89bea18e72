"""A password change revokes the user's API tokens (deactivation: a trigger, migration 0003).

Django marks a pending password change on the instance (set_password() keeps the raw password
in ``_password`` until save() has run the password validators' ``password_changed`` hooks), and
clears that mark itself for hash upgrades on login (check_password's setter), which are not
password changes. post_save runs inside save(), before the mark is cleared. So every Django path
that changes a password (admin forms, ``changepassword``, set_password() + save()) revokes, and a
hasher upgrade does not. A raw ``.update(password=...)`` bypasses save() and Django's own
password hooks alike; nothing in Django or this project does that.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from tasks.models import ApiToken, User


@receiver(post_save, sender=User, dispatch_uid="tasks.revoke_tokens_on_password_change")
def revoke_tokens_on_password_change(sender, instance, created, **kwargs):
    if created or kwargs.get("raw") or getattr(instance, "_password", None) is None:
        return
    from tasks import services

    services.user_tokens_revoke_all(user_ids=[instance.pk], reason=ApiToken.Revocation.PASSWORD)
