# What every app and worker host needs, baked into the project's image.
# Packages only: no configuration, no secrets (the image is shared by all
# environments of the project). Package names follow the OS family (map.jinja).
{%- from "image/map.jinja" import os_map with context %}
{%- set argos = pillar.get('argos', {}) %}

image-packages:
  pkg.installed:
    - pkgs:
{%- for package in os_map.build_packages %}
      - {{ package }}
{%- endfor %}
{%- for package in argos.get('system_packages', []) %}
      - {{ package }}
{%- endfor %}
