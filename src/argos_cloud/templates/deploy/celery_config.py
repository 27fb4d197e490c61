# Celery config for Argos, rendered by Salt (Jinja) on app and worker hosts to
# /srv/argos/etc/celery_config.py (ARGOS_CELERY_CONFIG in the units): the web app
# queues tasks with it, the workers consume with it. Lowercase names are Celery's.
{%- set broker = pillar.argos.broker %}
{%- if broker.engine == 'rabbitmq' %}

broker_url = "amqp://{{ broker.user }}:{{ secrets.broker_password | urlencode }}@{{ broker.host }}:{{ broker.port }}//"
result_backend = "rpc://"  # results travel back over the broker itself
{%- else %}

broker_url = "redis://:{{ secrets.broker_password | urlencode }}@{{ broker.host }}:{{ broker.port }}/0"
result_backend = broker_url  # the broker also keeps the results /celery waits for
{%- endif %}
result_expires = 3600
broker_connection_retry_on_startup = True
task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
worker_concurrency = {{ pillar.argos.worker.concurrency | int }}
