# The Celery broker: Redis bound to the private address with a password, or
# RabbitMQ when pillar argos:broker:engine is 'rabbitmq'.
{%- set broker = pillar['argos']['broker'] %}

{%- if broker.engine == 'rabbitmq' %}
rabbitmq-server:
  pkg.installed: []
  service.running:
    - enable: True
    - require:
      - pkg: rabbitmq-server

argos-broker-user:
  rabbitmq_user.present:
    - name: {{ broker.user }}
    - password: {{ pillar['secrets']['broker_password'] | yaml_dquote }}
    - perms:
      - '/':
        - '.*'
        - '.*'
        - '.*'
    - require:
      - service: rabbitmq-server

rabbitmq-guest-absent:
  rabbitmq_user.absent:
    - name: guest
    - require:
      - service: rabbitmq-server
{%- else %}
redis-server:
  pkg.installed: []
  service.running:
    - enable: True
    - watch:
      - file: redis-config

redis-config:
  file.managed:
    - name: /etc/redis/redis.conf
    - source: salt://broker/files/redis.conf
    - template: jinja
    - user: redis
    - group: redis
    - mode: '0640'
    - show_changes: False
    - context:
        secrets: {{ pillar['secrets'] | json }}
    - require:
      - pkg: redis-server
{%- endif %}
