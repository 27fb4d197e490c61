# PostgreSQL with its data on the separate data volume (DeleteOnTermination
# false), reachable only from inside the VPC (security groups narrow this to
# the app and worker hosts).
{%- from "image/map.jinja" import os_map with context %}
{%- set db = pillar['argos']['database'] %}
{#- The release's PostgreSQL (15 on Debian 12, 14 on Ubuntu 22.04): its config dir. #}
{%- set pg_version = db.get('version', os_map.postgresql_version) %}
{%- set conf_dir = '/etc/postgresql/' ~ pg_version ~ '/main' %}

argos-data-device:
  file.managed:
    - name: /usr/local/sbin/argos-data-device
    - source: salt://database/files/argos-data-device
    - mode: '0755'

# Formats the volume only when no disk carries the label yet (blkid only reads).
# The device's name differs by instance type (sdf, xvdf, nvme1n1): found at run time.
postgresql-data-filesystem:
  cmd.run:
    - name: mkfs.ext4 -q -L argos-pgdata "$(/usr/local/sbin/argos-data-device {{ db.data_device }})"
    - unless: blkid -L argos-pgdata
    - require:
      - file: argos-data-device

postgresql-data-volume:
  mount.mounted:
    - name: /var/lib/postgresql
    - device: LABEL=argos-pgdata
    - fstype: ext4
    - opts: defaults,nofail
    - mkmnt: True
    - persist: True
    - require:
      - cmd: postgresql-data-filesystem

postgresql:
  pkg.installed:
    - pkgs:
      - postgresql
      - postgresql-contrib
    - require:
      - mount: postgresql-data-volume
  service.running:
    - enable: True
    - watch:
      - file: postgresql-listen
      - file: postgresql-hba

postgresql-listen:
  file.managed:
    - name: {{ conf_dir }}/conf.d/argos.conf
    - contents: "listen_addresses = '*'"
    - makedirs: True
    - user: postgres
    - group: postgres
    - mode: '0644'
    - require:
      - pkg: postgresql

postgresql-hba:
  file.managed:
    - name: {{ conf_dir }}/pg_hba.conf
    - source: salt://database/files/pg_hba.conf
    - template: jinja
    - user: postgres
    - group: postgres
    - mode: '0640'
    - require:
      - pkg: postgresql

argos-database-user:
  postgres_user.present:
    - name: {{ db.user }}
    - password: {{ pillar['secrets']['database_password'] | yaml_dquote }}
    - encrypted: scram-sha-256
    - login: True
    - require:
      - service: postgresql

argos-database:
  postgres_database.present:
    - name: {{ db.name }}
    - owner: {{ db.user }}
    - require:
      - postgres_user: argos-database-user
