# Shared by app and worker hosts: the application's checkout at the pinned
# commit, its virtualenv, and its configs rendered from the user's templates
# (shipped in the bundle as argos/files/config.py and celery_config.py).
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
    - rev: {{ argos.commit }}
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

# The marker names the commit, so each new commit installs its requirements once.
argos-requirements:
  cmd.run:
    - name: >-
        {{ home }}/venv/bin/pip install --quiet -r {{ home }}/app/{{ argos.requirements }}
        && touch {{ home }}/venv/.installed-{{ argos.commit }}
    - runas: argos
    - cwd: {{ home }}/app
    - creates: {{ home }}/venv/.installed-{{ argos.commit }}
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
