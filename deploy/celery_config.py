# Celery config for Argos workers, rendered by Salt (Jinja) on app and worker hosts.

broker_url = "{{ pillar.argos.broker.url_scheme }}://:{{ secrets.broker_password }}@{{ pillar.argos.broker.host }}:{{ pillar.argos.broker.port }}/0"
result_backend = broker_url
task_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
worker_concurrency = {{ pillar.argos.worker.concurrency }}
