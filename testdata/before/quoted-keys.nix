{
  "inventory"."services" = {
    "user-password"."bob" = {
      roles.default.machines = [ "bobs-pc" ];
      config.user = "bob";
    };
    garage."s3 storage" = {
      roles.default.machines = [ "storage01" ];
    };
  };
}
