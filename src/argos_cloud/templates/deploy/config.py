# Argos application config, rendered by Salt (Jinja) on every app and worker host
# to /srv/argos/etc/config.py, where the app reads it (ARGOS_CONFIG in its units).
# Available: pillar (non-secret values) and secrets read on the master from SSM.
# Never commit real secrets here: they come from SSM Parameter Store. Strings are
# rendered with `json`, which makes them valid Python string literals.

DEBUG = False
SECRET_KEY = {{ secrets.secret_key | json }}
ENVIRONMENT = {{ pillar.argos.environment | json }}
COMMIT = {{ pillar.argos.commit | json }}  # what Salt asked for; the app reads its checkout

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": {{ pillar.argos.database.name | json }},
        "USER": {{ pillar.argos.database.user | json }},
        "PASSWORD": {{ secrets.database_password | json }},
        "HOST": {{ pillar.argos.database.host | json }},
        "PORT": {{ pillar.argos.database.port | int }},
    }
}

ALLOWED_HOSTS = ["*"]
