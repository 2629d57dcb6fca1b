{
  inventory.machines = {
    monitor = { };
    web = { };
  };
  inventory.services.my-monitoring.default = {
    roles.agent.machines = [ "web" "monitor" ];
    roles.server.machines = [ "monitor" ];
    config = {
      retention = "30d";
      scrapeInterval = "15s";
    };
  };
}
