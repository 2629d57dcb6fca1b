{ lib, ... }:
let
  withBackups = true;
in
{
  clan.inventory = lib.mkMerge [
    {
      services.sshd.default = {
        roles.server.tags = [ "all" ];
        roles.client.tags = [ "all" ];
      };
    }
    (lib.mkIf withBackups {
      services.borgbackup.nightly = {
        roles.client.machines = [ "laptop" ];
        roles.server.machines = [ "nas" ];
        roles.server.config.directory = "/srv/borgbackup";
      };
    })
  ];
  flake.clan.inventory.services = lib.mkDefault {
    packages.tools.roles.default.machines = [ "laptop" ];
  };
}
