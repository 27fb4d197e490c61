# The web tier: gunicorn under systemd (argos-gunicorn) on 127.0.0.1:<app.port>,
# nginx in front on port 80, the port the target group sends traffic and its
# health check (config `health_path`) to. nginx's layout follows the OS family.
{%- from "image/map.jinja" import os_map with context %}
{%- set argos = pillar['argos'] %}
include:
  - argos

gunicorn-unit:
  file.managed:
    - name: /etc/systemd/system/argos-gunicorn.service
    - source: salt://app/files/argos-gunicorn.service
    - template: jinja
    - mode: '0644'
    - context:
        workers: {{ [grains.get('num_cpus', 1) * 2 + 1, 9] | min }}

# Restarted when the commit, its requirements, its migration, a config or the
# unit changes; required to run after the migration of this commit.
argos-gunicorn:
  service.running:
    - enable: True
    - require:
      - cmd: argos-requirements
{%- if argos.get('migrate_command') %}
      - cmd: argos-migrate
{%- endif %}
    - watch:
      - file: gunicorn-unit
      - git: argos-checkout
      - cmd: argos-requirements
      - file: argos-config
      - file: argos-celery-config

nginx-site:
  file.managed:
    - name: {{ os_map.nginx_site }}
    - source: salt://app/files/nginx-argos.conf
    - template: jinja
    - mode: '0644'
    - require:
      - pkg: image-packages
{%- if os_map.nginx_site_enabled %}

nginx-site-enabled:
  file.symlink:
    - name: {{ os_map.nginx_site_enabled }}
    - target: {{ os_map.nginx_site }}
    - require:
      - file: nginx-site
    - watch_in:
      - service: nginx
{%- endif %}
{%- if os_map.nginx_default_site %}

nginx-default-site-absent:
  file.absent:
    - name: {{ os_map.nginx_default_site }}
    - watch_in:
      - service: nginx
{%- endif %}

nginx:
  service.running:
    - enable: True
    - reload: True
    - watch:
      - file: nginx-site
