{
  admin-default = {
    module.name = "admin";
    roles.default.tags = [ "all" ];
  };
}
