# Shared by app and worker hosts: the application's checkout at the pinned
# commit (/srv/argos/app), its virtualenv (/srv/argos/venv) with the commit's
# requirements, its configs rendered from the user's templates (shipped in the
# bundle as argos/files/config.py and celery_config.py) into /srv/argos/etc,
# where the units' ARGOS_CONFIG and ARGOS_CELERY_CONFIG point, and its
# migration, run once per commit.
# Config files get `pillar` and `secrets` in their Jinja context; their diffs
# are hidden so no secret reaches a job return.
{%- set argos = pillar['argos'] %}
{%- set home = '/srv/argos' %}

include:
  - image

argos-user:
  user.present:
    - name: argos
    - system: True
    - home: {{ home }}
    - createhome: True
    - shell: /bin/bash

argos-etc:
  file.directory:
    - name: {{ home }}/etc
    - user: argos
    - group: argos
    - mode: '0750'
    - require:
      - user: argos-user

{%- if argos.has_deploy_key %}
argos-deploy-key:
  file.managed:
    - name: {{ home }}/.ssh/deploy_key
    - contents_pillar: secrets:deploy_key
    - user: argos
    - group: argos
    - mode: '0600'
    - makedirs: True
    - show_changes: False
    - require:
      - user: argos-user
    - require_in:
      - git: argos-checkout
{%- endif %}

argos-checkout:
  git.latest:
    - name: {{ argos.repository }}
    - rev: {{ argos.commit | yaml_dquote }}
    - target: {{ home }}/app
    - user: argos
    - force_reset: True
    - force_fetch: True
{%- if argos.has_deploy_key %}
    - identity: {{ home }}/.ssh/deploy_key
{%- endif %}
    - require:
      - user: argos-user
      - pkg: image-packages

argos-virtualenv:
  cmd.run:
    - name: python3 -m venv {{ home }}/venv
    - runas: argos
    - creates: {{ home }}/venv/bin/python
    - require:
      - user: argos-user
      - pkg: image-packages

# The marker holds the commit whose requirements the venv has. It is removed
# before pip runs, so a commit whose requirements failed (or any other commit,
# a rollback included) installs its own again. `unless` runs even under
# validation (mock=True): it only reads a file.
argos-requirements:
  cmd.run:
    - name: >-
        rm -f {{ home }}/venv/.requirements-commit
        && {{ home }}/venv/bin/pip install --quiet --disable-pip-version-check
        -r {{ home }}/app/{{ argos.requirements }}
        && echo {{ argos.commit }} > {{ home }}/venv/.requirements-commit
    - runas: argos
    - cwd: {{ home }}/app
    - unless: grep -qsx {{ argos.commit }} {{ home }}/venv/.requirements-commit
    - require:
      - git: argos-checkout
      - cmd: argos-virtualenv

argos-config:
  file.managed:
    - name: {{ home }}/etc/config.py
    - source: salt://argos/files/config.py
    - template: jinja
    - user: argos
    - group: argos
    - mode: '0640'
    - show_changes: False
    - context:
        secrets: {{ pillar['secrets'] | json }}
    - require:
      - file: argos-etc

argos-celery-config:
  file.managed:
    - name: {{ home }}/etc/celery_config.py
    - source: salt://argos/files/celery_config.py
    - template: jinja
    - user: argos
    - group: argos
    - mode: '0640'
    - show_changes: False
    - context:
        secrets: {{ pillar['secrets'] | json }}
    - require:
      - file: argos-etc

# The app's migration (config `migrate_command`; the reference app's
# `python -m argos.migrate` is idempotent and takes an advisory lock) once per
# commit on each host: the marker holds the last commit migrated. The
# command runs with the venv first on PATH and the units' environment.
{%- if argos.get('migrate_command') %}
argos-migrate:
  cmd.run:
    - name: >-
        {{ argos.migrate_command }}
        && echo {{ argos.commit }} > {{ home }}/migrated-commit
    - runas: argos
    - cwd: {{ home }}/app
    - env:
      - PATH: {{ home }}/venv/bin:/usr/local/bin:/usr/bin:/bin
      - PYTHONPATH: {{ home }}/app:{{ home }}/etc
      - ARGOS_CONFIG: {{ home }}/etc/config.py
      - ARGOS_CELERY_CONFIG: {{ home }}/etc/celery_config.py
    - unless: grep -qsx {{ argos.commit }} {{ home }}/migrated-commit
    - require:
      - cmd: argos-requirements
      - file: argos-config
      - file: argos-celery-config
{%- endif %}
