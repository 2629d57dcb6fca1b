# A NixOS module reading the legacy tree.
{ config, lib, ... }:
let
  peers = config.clan.inventory.services.zerotier.default.roles.peer.machines or [ ];
in
{
  networking.extraHosts = lib.concatMapStringsSep "\n" (m: "10.0.0.1 ${m}") peers;
  services.openssh.enable = config.clan.inventory ? services;
  assertions = [
    {
      assertion = config.clan.inventory ? services.sshd;
      message = "sshd missing";
    }
  ];
}
