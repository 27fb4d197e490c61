# What every app and worker host needs, baked into the project's image.
# Packages only: no configuration, no secrets (the image is shared by all
# environments of the project).
{%- set argos = pillar.get('argos', {}) %}

image-packages:
  pkg.installed:
    - pkgs:
      - python3
      - python3-venv
      - python3-dev
      - build-essential
      - libpq-dev
      - nginx
      - git
{%- for package in argos.get('system_packages', []) %}
      - {{ package }}
{%- endfor %}
