# The Salt master of one environment, applied masterless by its user data
# (salt-call --local state.apply) once the bundle is in /srv.
#
# Secrets: the pillar in the bundle holds no secret values. The master adds a
# `secrets` key to every minion's pillar through an ext_pillar: `cmd_json`
# runs /usr/local/bin/argos-secrets, which reads this environment's SSM path
# (SecureString parameters, decrypted with the master's instance role) and
# prints {"secrets": {...}}. Secrets thus exist only on the master, in SSM and
# on the minions that render them, never in user data, images or the bundle.
# Key acceptance: grains-based autosign. A minion sends its `environment`
# grain (autosign_grains: [environment]); the master accepts only minions
# whose value is listed in autosign_grains/environment. No auto_accept.
{%- set argos = pillar['argos'] %}

salt-master-config:
  file.managed:
    - name: /etc/salt/master.d/argos.conf
    - source: salt://master/files/master.conf
    - template: jinja
    - makedirs: True
    - mode: '0644'

salt-master-autosign:
  file.managed:
    - name: /etc/salt/autosign_grains/environment
    - contents: {{ argos.environment | yaml_dquote }}
    - makedirs: True
    - mode: '0644'

argos-secrets-script:
  file.managed:
    - name: /usr/local/bin/argos-secrets
    - source: salt://master/files/argos-secrets
    - template: jinja
    - mode: '0755'

# Debian's and Amazon Linux's minimal images have no iptables; Ubuntu's has.
salt-master-firewall-tools:
  pkg.installed:
    - name: iptables

salt-master-firewall-rules:
  file.managed:
    - name: /etc/iptables/argos-salt.rules
    - source: salt://master/files/salt-firewall.rules
    - template: jinja
    - makedirs: True
    - mode: '0644'

salt-master-firewall:
  cmd.run:
    - name: iptables-restore --noflush /etc/iptables/argos-salt.rules
    - onchanges:
      - file: salt-master-firewall-rules
    - require:
      - pkg: salt-master-firewall-tools

salt-master-firewall-jump:
  cmd.run:
    - name: iptables -I INPUT -j ARGOS-SALT
    - unless: iptables -C INPUT -j ARGOS-SALT
    - require:
      - cmd: salt-master-firewall

salt-master:
  service.running:
    - enable: True
    - watch:
      - file: salt-master-config
      - file: salt-master-autosign
    - require:
      - file: argos-secrets-script
