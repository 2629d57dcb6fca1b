{ lib, ... }:
let
  withBackups = true;
in
{
  clan.inventory = lib.mkMerge [
    {
      instances.sshd-default = {
        module.name = "sshd";
        roles.server.tags = [ "all" ];
        roles.client.tags = [ "all" ];
      };
    }
    (lib.mkIf withBackups {
      instances.borgbackup-nightly = {
        module.name = "borgbackup";
        roles.client.machines = { laptop = { }; };
        roles.server.machines = { nas = { }; };
        roles.server.settings.directory = "/srv/borgbackup";
      };
    })
  ];
  flake.clan.inventory.instances = lib.mkDefault {
    packages-tools.module.name = "packages";
    packages-tools.roles.default.machines = { laptop = { }; };
  };
}
