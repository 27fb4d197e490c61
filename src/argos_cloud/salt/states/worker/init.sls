# Celery workers under systemd (argos-celery). Beat runs inside one worker
# (celery worker -B) only where the grain argos_beat is true and the pillar
# allows beat. Restarted when the commit, its requirements or a config changes.
{%- set argos = pillar['argos'] %}
include:
  - argos

celery-unit:
  file.managed:
    - name: /etc/systemd/system/argos-celery.service
    - source: salt://worker/files/argos-celery.service
    - template: jinja
    - mode: '0644'
    - context:
        beat: {{ (argos['worker']['beat'] and grains.get('argos_beat', False)) | json }}

argos-celery:
  service.running:
    - enable: True
    # Celery does not tell systemd when it is ready: wait a little, so a commit
    # whose worker dies at import fails here rather than after the state passed.
    - init_delay: 3
    - require:
      - cmd: argos-requirements
{%- if argos.get('migrate_command') %}
      - cmd: argos-migrate
{%- endif %}
    - watch:
      - file: celery-unit
      - git: argos-checkout
      - cmd: argos-requirements
      - file: argos-config
      - file: argos-celery-config
