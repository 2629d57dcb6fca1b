{
  inventory = {
    machines = {
      gateway.tags = [ "edge" ];
      storage = { };
      lab = { };
    };
    modules = {
      monitoring = ./modules/monitoring;
      motd = ./modules/motd;
      vpn = ./modules/vpn;
    };
    services = {
      vpn.mesh = {
        roles.peer.tags = [ "all" ];
        config.port = 51821;
      };
    };
    instances = {
      monitoring-main = {
        module = { name = "monitoring"; input = "self"; };
        roles.server.machines = { gateway = { }; };
        roles.agent.tags = [ "all" ];
        roles.agent.settings.interval = 15;
        roles.server.settings.interval = 15;
        roles.server.settings.retention = "30d";
        roles.agent.machines.storage.settings.labels.rack = "r2";
      };
      monitoring-lab = {
        module = { name = "monitoring"; input = "self"; };
        roles.server.machines = { lab = { }; };
        roles.agent.machines = { gateway = { }; lab = { }; };
        roles.agent.settings.collectors = [ "cpu" "disk" ];
      };
      motd-welcome = {
        module = { name = "motd"; input = "self"; };
        roles.default.tags = [ "all" ];
        roles.default.settings.lines = [ "Welcome to the fleet." ];
      };
      motd-edge = {
        module = { name = "motd"; input = "self"; };
        roles.default.tags = [ "edge" ];
        roles.default.settings.lines = [ "This machine faces the internet." ];
        roles.default.settings.banner = "edge";
      };
    };
  };
  modules.monitoring = ./modules/monitoring/clan-service.nix;
  modules.motd = ./modules/motd/clan-service.nix;
}
