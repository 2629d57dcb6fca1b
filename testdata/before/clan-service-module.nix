# A clan.service module ported by hand from a legacy clanModule, with the
# mistakes such ports make.
{ lib, ... }:
{
  _class = "clan.service";
  manifest.description = "Metrics agent and server";

  roles.agent = {
    interface =
      { lib, ... }:
      {
        options.port = lib.mkOption { type = lib.types.port; };
        options.package = lib.mkOption { type = lib.types.package; };
        config.port = 9100;
      };
    perInstance =
      { settings, ... }:
      {
        nixosModule = {
          services.prometheus.exporters.node.port = settings.port;
        };
        services.prometheus.enable = true;
      };
  };

  roles.server.perInstance =
    { instanceConfig, ... }:
    {
      nixosModule =
        { ... }:
        {
          services.prometheus.scrapeConfigs = instanceConfig.targets;
        };
    };

  perMachine =
    { machine, ... }:
    {
      nixosModule.networking.firewall.allowedTCPPorts = [ 9100 ];
      exports = { };
      vars.generators.metrics = { };
    };
}
