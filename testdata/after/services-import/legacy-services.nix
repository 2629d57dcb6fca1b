{
  wifi.home = {
    roles.default.machines = [ "laptop" ];
    config.networks.home.autoConnect = true;
  };
  localbackup.default = {
    roles.default.machines = [ "router" ];
  };
}
