# A clan.service module as clan-core writes them: nothing to report.
{ lib, ... }:
{
  _class = "clan.service";
  manifest.name = "metrics";
  manifest.description = "Metrics agent and server";

  roles.agent = {
    description = "Exports this machine's metrics";
    interface = {
      options.port = lib.mkOption {
        type = lib.types.port;
        default = 9100;
      };
      options.packageName = lib.mkOption {
        type = lib.types.str;
        default = "prometheus-node-exporter";
      };
    };
    perInstance =
      { settings, ... }:
      {
        nixosModule =
          { config, ... }:
          {
            services.prometheus.exporters.node.port = settings.port;
            config.networking.firewall.allowedTCPPorts = [ settings.port ];
          };
        exports = { };
      };
  };

  # A NixOS module's `config` and `services` are not results.
  perMachine =
    { machine, ... }:
    {
      nixosModule = {
        config.services.prometheus.enable = true;
      };
    };
}
