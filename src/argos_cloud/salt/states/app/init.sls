# The web tier: gunicorn under systemd, nginx in front, and the health path
# the load balancer checks.
include:
  - argos

gunicorn-unit:
  file.managed:
    - name: /etc/systemd/system/argos-gunicorn.service
    - source: salt://app/files/argos-gunicorn.service
    - template: jinja
    - mode: '0644'

argos-gunicorn:
  service.running:
    - enable: True
    - require:
      - cmd: argos-requirements
    - watch:
      - file: gunicorn-unit
      - git: argos-checkout
      - file: argos-config
      - file: argos-celery-config

nginx-site:
  file.managed:
    - name: /etc/nginx/sites-available/argos.conf
    - source: salt://app/files/nginx-argos.conf
    - template: jinja
    - mode: '0644'
    - require:
      - pkg: image-packages

nginx-site-enabled:
  file.symlink:
    - name: /etc/nginx/sites-enabled/argos.conf
    - target: /etc/nginx/sites-available/argos.conf
    - require:
      - file: nginx-site

nginx-default-site-absent:
  file.absent:
    - name: /etc/nginx/sites-enabled/default

nginx:
  service.running:
    - enable: True
    - reload: True
    - watch:
      - file: nginx-site
      - file: nginx-site-enabled
      - file: nginx-default-site-absent
