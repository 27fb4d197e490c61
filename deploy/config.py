# Argos application config, rendered by Salt (Jinja) on every app and worker host.
# Available: pillar (non-secret values) and secrets read on the master from SSM.
# Never commit real secrets here: they come from SSM Parameter Store.

DEBUG = False
SECRET_KEY = "{{ secrets.secret_key }}"
ENVIRONMENT = "{{ pillar.argos.environment }}"
COMMIT = "{{ pillar.argos.commit }}"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "{{ pillar.argos.database.name }}",
        "USER": "{{ pillar.argos.database.user }}",
        "PASSWORD": "{{ secrets.database_password }}",
        "HOST": "{{ pillar.argos.database.host }}",
        "PORT": {{ pillar.argos.database.port }},
    }
}

ALLOWED_HOSTS = ["*"]
