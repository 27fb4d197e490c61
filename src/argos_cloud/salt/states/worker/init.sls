# Celery workers under systemd. Beat runs inside one worker (celery worker -B)
# only where the grain argos_beat is true and the pillar allows beat.
include:
  - argos

celery-unit:
  file.managed:
    - name: /etc/systemd/system/argos-celery.service
    - source: salt://worker/files/argos-celery.service
    - template: jinja
    - mode: '0644'
    - context:
        beat: {{ (pillar['argos']['worker']['beat'] and grains.get('argos_beat', False)) | json }}

argos-celery:
  service.running:
    - enable: True
    - require:
      - cmd: argos-requirements
    - watch:
      - file: celery-unit
      - git: argos-checkout
      - file: argos-config
      - file: argos-celery-config
