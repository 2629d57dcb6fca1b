{ self, clan-core, ... }:
clan-core.lib.buildClan {
  directory = self;
  inventory.modules = self.modules.clan;
  inventory.services.my-monitoring.default = {
    roles.agent.tags = [ "all" ];
    roles.server.machines = [ "monitor" ];
    config.retention = "30d";
  };
}
