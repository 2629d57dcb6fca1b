{ ... }:
{
  machines.printer = { };
  services = {
    packages.office = {
      roles.default.machines = [ "printer" ];
      config.packages = [ "cups" ];
    };
  };
}
