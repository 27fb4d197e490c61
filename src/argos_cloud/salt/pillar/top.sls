# argos.sls is written by argos-cloud into every bundle: the environment's
# non-secret values. Secrets never live here: the master adds them as the
# `secrets` key through its ext_pillar (see states/master/init.sls).
base:
  '*':
    - argos
