# Which states each host runs, chosen by its `roles` grain (a list).
# The image is baked masterless with roles: [image]; every other host gets its
# role from the grains its user data writes.
base:
  'roles:image':
    - match: grain
    - image
  'roles:master':
    - match: grain
    - master
  'roles:database':
    - match: grain
    - database
  'roles:broker':
    - match: grain
    - broker
  'roles:app':
    - match: grain
    - app
  'roles:worker':
    - match: grain
    - worker
