{ config, pkgs, ... }:
{
  imports = [ ./hardware-configuration.nix ];

  services.openssh = {
    enable = true;
    settings.PasswordAuthentication = false;
  };
  services.borgbackup.jobs.home = {
    paths = [ "/home" ];
    repo = "borg@nas:home";
  };
  clan.core.networking.targetHost = "root@jon";
  system.stateVersion = "24.05";
}
