{ lib, ... }:
{
  clan = lib.mkMerge [
    { meta.name = "merged"; }
    {
      inventory.services.sshd.default.roles.server.tags = [ "all" ];
    }
  ];
}
