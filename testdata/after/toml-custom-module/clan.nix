{
  inventory.machines = {
    monitor = { };
    web = { };
  };
  inventory.instances.my-monitoring-default = {
    module = { name = "monitoring"; input = "self"; };
    roles.agent.machines = { web = { }; monitor = { }; };
    roles.server.machines = { monitor = { }; };
    roles.server.settings.retention = "30d";
    roles.agent.settings.scrapeInterval = "15s";
    roles.server.settings.scrapeInterval = "15s";
  };
}
