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
      monitoring.main = {
        roles.server.machines = [ "gateway" ];
        roles.agent.tags = [ "all" ];
        config.interval = 15;
        roles.server.config.retention = "30d";
        machines.storage.config.labels.rack = "r2";
      };
      monitoring.lab = {
        roles.server.machines = [ "lab" ];
        roles.agent.machines = [ "gateway" "lab" ];
        roles.agent.config.collectors = [ "cpu" "disk" ];
      };
      motd.welcome = {
        roles.default.tags = [ "all" ];
        config.lines = [ "Welcome to the fleet." ];
      };
      motd.edge = {
        roles.default.tags = [ "edge" ];
        config.lines = [ "This machine faces the internet." ];
        config.banner = "edge";
      };
      vpn.mesh = {
        roles.peer.tags = [ "all" ];
        config.port = 51821;
      };
    };
  };
}
