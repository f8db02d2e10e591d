"""Every Pop RPC has a role decided on purpose: reads for readers, changes for operators."""

from __future__ import annotations

from popvim.api.pop.auth import LOGIN_METHOD, METHOD_ROLES, needed_role
from popvim.proto import vim_pop_pb2 as pb
from popvim.vim.users import Role


def test_each_rpc_of_the_service_is_in_the_table() -> None:
    service = pb.DESCRIPTOR.services_by_name["Pop"]
    methods = {f"/{service.full_name}/{m.name}" for m in service.methods} - {LOGIN_METHOD}
    assert methods == set(METHOD_ROLES)


def test_reads_and_changes() -> None:
    assert needed_role("/vim_pop.Pop/Containers") is Role.READER
    assert needed_role("/vim_pop.Pop/Logout") is Role.READER
    assert needed_role("/vim_pop.Pop/Create") is Role.OPERATOR
    assert needed_role("/vim_pop.Pop/Exec") is Role.OPERATOR
    assert needed_role("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo") is Role.READER
    assert needed_role("/vim_pop.Pop/SomethingAddedLater") is Role.ADMIN
