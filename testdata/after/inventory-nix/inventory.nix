{ ... }:
{
  machines.printer = { };
  instances = {
    packages-office = {
      module.name = "packages";
      roles.default.machines = { printer = { }; };
      roles.default.settings.packages = [ "cups" ];
    };
  };
}
