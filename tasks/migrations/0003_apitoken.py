"""Hashed API tokens (tasks.ApiToken) replace DRF's authtoken, whose table held every key in
plain text.

1. tasks_apitoken, with the unique digest index the authentication lookup uses.
2. A trigger on tasks_user: a user going from active to inactive has all live tokens revoked,
   whatever path wrote it (admin form, queryset .update(), raw SQL). Password changes are
   handled in Python (tasks.signals), where Django tells a password change from a hash upgrade.
3. Existing authtoken keys become tokens: the old key is the secret, so its SHA-256 and its first
   8 characters are stored, and clients holding it keep working. They expire API_TOKEN_TTL after
   this migration (they had no expiry; their creation date may be years old). Then the plain
   table, its permissions and content types and its migration records are dropped.

On a fresh database there is no authtoken table and step 3 only cleans nothing. Not reversible
in substance: the plain keys cannot be recovered from digests (going back drops the tokens).
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

DEACTIVATION_TRIGGER = """
CREATE FUNCTION tasks_user_revoke_tokens_on_deactivation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tasks_apitoken SET revoked_at = now(), revoked_reason = 'deactivated'
     WHERE user_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER tasks_user_deactivated AFTER UPDATE OF is_active ON tasks_user
    FOR EACH ROW WHEN (OLD.is_active AND NOT NEW.is_active)
    EXECUTE FUNCTION tasks_user_revoke_tokens_on_deactivation();
"""
DROP_DEACTIVATION_TRIGGER = """
DROP TRIGGER tasks_user_deactivated ON tasks_user;
DROP FUNCTION tasks_user_revoke_tokens_on_deactivation();
"""


def migrate_authtoken_keys(apps, schema_editor):
    connection = schema_editor.connection
    tables = set(connection.introspection.table_names())
    if "authtoken_token" in tables:
        with connection.cursor() as cursor:
            # Hashed in SQL: the keys are already in this database; nothing leaves it.
            cursor.execute(
                """
                INSERT INTO tasks_apitoken
                    (user_id, prefix, digest, created, expires_at, revoked_reason)
                SELECT user_id, left(key, 8), encode(sha256(convert_to(key, 'UTF8')), 'hex'),
                       created, now() + %s, ''
                  FROM authtoken_token
                """,
                [settings.API_TOKEN_TTL],
            )
            cursor.execute("DROP TABLE authtoken_token")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="authtoken").delete()
    ContentType.objects.filter(app_label="authtoken").delete()
    with connection.cursor() as cursor:
        # If rest_framework.authtoken is ever installed again, its migrations run afresh.
        cursor.execute("DELETE FROM django_migrations WHERE app = 'authtoken'")


class Migration(migrations.Migration):

    dependencies = [
        ('tasks', '0002_taskcounter'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('prefix', models.CharField(max_length=8)),
                ('digest', models.CharField(max_length=64)),
                ('created', models.DateTimeField(default=django.utils.timezone.now)),
                ('expires_at', models.DateTimeField()),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_reason', models.CharField(blank=True, choices=[('user', 'revoked by its user'), ('all', 'user revoked all tokens'), ('password', 'password changed'), ('deactivated', 'user deactivated'), ('staff', 'revoked by staff')], max_length=12)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'API token',
                'db_table': 'tasks_apitoken',
                'constraints': [models.UniqueConstraint(fields=('digest',), name='apitoken_digest_uniq'), models.CheckConstraint(condition=models.Q(models.Q(('revoked_at__isnull', True), ('revoked_reason', '')), models.Q(('revoked_at__isnull', False), models.Q(('revoked_reason', ''), _negated=True)), _connector='OR'), name='apitoken_revoked_has_reason')],
            },
        ),
        migrations.RunSQL(DEACTIVATION_TRIGGER, DROP_DEACTIVATION_TRIGGER),
        migrations.RunPython(migrate_authtoken_keys, migrations.RunPython.noop),
    ]
