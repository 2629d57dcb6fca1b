{ lib, ... }:
{
  instances.borgbackup-offsite = {
    module.name = "borgbackup";
    roles.client.tags = [ "backup" ];
    roles.server.machines = { offsite-nas = { }; };
  };
  tags.backup = [ "laptop" "desktop" ];
}
