{ lib, ... }:
{
  clan = lib.mkMerge [
    { meta.name = "merged"; }
    {
      inventory.instances.sshd-default.module.name = "sshd";
      inventory.instances.sshd-default.roles.server.tags = [ "all" ];
    }
  ];
}
