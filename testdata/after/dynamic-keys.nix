{ lib, self, clan-core, ... }:
let
  name = "backup";
  hosts = [ "a" "b" ];
in
clan-core.lib.clan {
  inherit self;
  inventory.services.borgbackup.${name} = {
    roles.client.machines = hosts;
  };
  inventory.instances.sshd-static = {
    module.name = "sshd";
    roles.server.tags = [ "all" ];
  };
  inventory.services."${name}-svc".x = { };
}
