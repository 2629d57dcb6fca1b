{ lib, ... }:
{
  services.borgbackup.offsite = {
    roles.client.tags = [ "backup" ];
    roles.server.machines = [ "offsite-nas" ];
  };
  tags.backup = [ "laptop" "desktop" ];
}
