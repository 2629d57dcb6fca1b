# Nothing in this file is a legacy inventory definition.
{ config, lib, pkgs, ... }:
let
  # `let` bindings are variables, not attributes.
  inventory.services.sshd.default = { };
  services = { borgbackup.x = { }; };
in
{
  services.openssh.enable = true;
  services.syncthing = {
    enable = true;
    settings.devices = { };
  };
  nodes.server.services.borgbackup.jobs.main = { };
  myModule.inventory.services.sshd.default = { };
  inventory.machines.jon.services = [ ];
  inventory.instances.sshd-default.roles.server.tags = [ "all" ];
  # inventory.services.sshd.commented = { roles.server.tags = [ "all" ]; };
  /* inventory.services.zerotier.old = { }; */
  environment.etc."notes".text = ''
    inventory.services.borgbackup.fake = { };
  '';
  description = "see inventory.services.sshd.default in the docs";
}
