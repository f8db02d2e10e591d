from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Container(_message.Message):
    __slots__ = ("id", "names", "image_id", "flavour_id", "command", "created", "started", "status", "extended_status", "endpoints", "md", "exit_code", "engine_id", "labels", "ports", "node")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNAVAILABLE: _ClassVar[Container.Status]
        CREATED: _ClassVar[Container.Status]
        RUNNING: _ClassVar[Container.Status]
        EXITED: _ClassVar[Container.Status]
        FAILED: _ClassVar[Container.Status]
        STOPPING: _ClassVar[Container.Status]
    UNAVAILABLE: Container.Status
    CREATED: Container.Status
    RUNNING: Container.Status
    EXITED: Container.Status
    FAILED: Container.Status
    STOPPING: Container.Status
    class EndpointsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Endpoint
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Endpoint, _Mapping]] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class PortsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    FLAVOUR_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXTENDED_STATUS_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    MD_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    ENGINE_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    id: str
    names: _containers.RepeatedScalarFieldContainer[str]
    image_id: str
    flavour_id: str
    command: str
    created: int
    started: int
    status: Container.Status
    extended_status: str
    endpoints: _containers.MessageMap[str, Endpoint]
    md: Metadata
    exit_code: int
    engine_id: str
    labels: _containers.ScalarMap[str, str]
    ports: _containers.ScalarMap[str, int]
    node: str
    def __init__(self, id: _Optional[str] = ..., names: _Optional[_Iterable[str]] = ..., image_id: _Optional[str] = ..., flavour_id: _Optional[str] = ..., command: _Optional[str] = ..., created: _Optional[int] = ..., started: _Optional[int] = ..., status: _Optional[_Union[Container.Status, str]] = ..., extended_status: _Optional[str] = ..., endpoints: _Optional[_Mapping[str, Endpoint]] = ..., md: _Optional[_Union[Metadata, _Mapping]] = ..., exit_code: _Optional[int] = ..., engine_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., ports: _Optional[_Mapping[str, int]] = ..., node: _Optional[str] = ...) -> None: ...

class ContainerConfig(_message.Message):
    __slots__ = ("name", "image_id", "flavour_id", "endpoints", "command", "env", "ports", "md", "cpus", "memory", "labels", "volumes", "privileged", "cap_add", "privileged_mode")
    class EndpointsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Endpoint
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Endpoint, _Mapping]] = ...) -> None: ...
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class PortsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    FLAVOUR_ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    MD_FIELD_NUMBER: _ClassVar[int]
    CPUS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    PRIVILEGED_FIELD_NUMBER: _ClassVar[int]
    CAP_ADD_FIELD_NUMBER: _ClassVar[int]
    PRIVILEGED_MODE_FIELD_NUMBER: _ClassVar[int]
    name: str
    image_id: str
    flavour_id: str
    endpoints: _containers.MessageMap[str, Endpoint]
    command: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    ports: _containers.ScalarMap[str, int]
    md: Metadata
    cpus: float
    memory: int
    labels: _containers.ScalarMap[str, str]
    volumes: _containers.RepeatedScalarFieldContainer[str]
    privileged: bool
    cap_add: _containers.RepeatedScalarFieldContainer[str]
    privileged_mode: str
    def __init__(self, name: _Optional[str] = ..., image_id: _Optional[str] = ..., flavour_id: _Optional[str] = ..., endpoints: _Optional[_Mapping[str, Endpoint]] = ..., command: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., ports: _Optional[_Mapping[str, int]] = ..., md: _Optional[_Union[Metadata, _Mapping]] = ..., cpus: _Optional[float] = ..., memory: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ..., volumes: _Optional[_Iterable[str]] = ..., privileged: _Optional[bool] = ..., cap_add: _Optional[_Iterable[str]] = ..., privileged_mode: _Optional[str] = ...) -> None: ...

class ContainerList(_message.Message):
    __slots__ = ("list",)
    LIST_FIELD_NUMBER: _ClassVar[int]
    list: _containers.RepeatedCompositeFieldContainer[Container]
    def __init__(self, list: _Optional[_Iterable[_Union[Container, _Mapping]]] = ...) -> None: ...

class Credentials(_message.Message):
    __slots__ = ("username", "password")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    username: str
    password: str
    def __init__(self, username: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class Endpoint(_message.Message):
    __slots__ = ("net_id", "net_name", "endpoint_id", "ipv4", "ipv6", "mac", "bandwidth", "delay", "loss")
    NET_ID_FIELD_NUMBER: _ClassVar[int]
    NET_NAME_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    IPV4_FIELD_NUMBER: _ClassVar[int]
    IPV6_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    BANDWIDTH_FIELD_NUMBER: _ClassVar[int]
    DELAY_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    net_id: str
    net_name: str
    endpoint_id: str
    ipv4: Ip
    ipv6: Ip
    mac: str
    bandwidth: str
    delay: str
    loss: str
    def __init__(self, net_id: _Optional[str] = ..., net_name: _Optional[str] = ..., endpoint_id: _Optional[str] = ..., ipv4: _Optional[_Union[Ip, _Mapping]] = ..., ipv6: _Optional[_Union[Ip, _Mapping]] = ..., mac: _Optional[str] = ..., bandwidth: _Optional[str] = ..., delay: _Optional[str] = ..., loss: _Optional[str] = ...) -> None: ...

class Filter(_message.Message):
    __slots__ = ("id", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class Flavour(_message.Message):
    __slots__ = ("id", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class FlavourList(_message.Message):
    __slots__ = ("list",)
    LIST_FIELD_NUMBER: _ClassVar[int]
    list: _containers.RepeatedCompositeFieldContainer[Flavour]
    def __init__(self, list: _Optional[_Iterable[_Union[Flavour, _Mapping]]] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ("id", "names", "created")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    id: str
    names: _containers.RepeatedScalarFieldContainer[str]
    created: int
    def __init__(self, id: _Optional[str] = ..., names: _Optional[_Iterable[str]] = ..., created: _Optional[int] = ...) -> None: ...

class ImageList(_message.Message):
    __slots__ = ("list",)
    LIST_FIELD_NUMBER: _ClassVar[int]
    list: _containers.RepeatedCompositeFieldContainer[Image]
    def __init__(self, list: _Optional[_Iterable[_Union[Image, _Mapping]]] = ...) -> None: ...

class Infos(_message.Message):
    __slots__ = ("type", "name", "timestamp")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    type: str
    name: str
    timestamp: int
    def __init__(self, type: _Optional[str] = ..., name: _Optional[str] = ..., timestamp: _Optional[int] = ...) -> None: ...

class Ip(_message.Message):
    __slots__ = ("address", "subnet")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SUBNET_FIELD_NUMBER: _ClassVar[int]
    address: str
    subnet: Subnet
    def __init__(self, address: _Optional[str] = ..., subnet: _Optional[_Union[Subnet, _Mapping]] = ...) -> None: ...

class Metadata(_message.Message):
    __slots__ = ("entries",)
    class EntriesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.ScalarMap[str, str]
    def __init__(self, entries: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Network(_message.Message):
    __slots__ = ("id", "name", "external", "subnets", "driver", "labels", "bandwidth", "delay", "loss")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_FIELD_NUMBER: _ClassVar[int]
    SUBNETS_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    BANDWIDTH_FIELD_NUMBER: _ClassVar[int]
    DELAY_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    external: bool
    subnets: _containers.RepeatedCompositeFieldContainer[Subnet]
    driver: str
    labels: _containers.ScalarMap[str, str]
    bandwidth: str
    delay: str
    loss: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., external: _Optional[bool] = ..., subnets: _Optional[_Iterable[_Union[Subnet, _Mapping]]] = ..., driver: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., bandwidth: _Optional[str] = ..., delay: _Optional[str] = ..., loss: _Optional[str] = ...) -> None: ...

class NetworkList(_message.Message):
    __slots__ = ("list",)
    LIST_FIELD_NUMBER: _ClassVar[int]
    list: _containers.RepeatedCompositeFieldContainer[Network]
    def __init__(self, list: _Optional[_Iterable[_Union[Network, _Mapping]]] = ...) -> None: ...

class NewMetadata(_message.Message):
    __slots__ = ("filter", "md")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    MD_FIELD_NUMBER: _ClassVar[int]
    filter: Filter
    md: Metadata
    def __init__(self, filter: _Optional[_Union[Filter, _Mapping]] = ..., md: _Optional[_Union[Metadata, _Mapping]] = ...) -> None: ...

class Subnet(_message.Message):
    __slots__ = ("cidr", "gateway")
    CIDR_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_FIELD_NUMBER: _ClassVar[int]
    cidr: str
    gateway: str
    def __init__(self, cidr: _Optional[str] = ..., gateway: _Optional[str] = ...) -> None: ...

class Token(_message.Message):
    __slots__ = ("value",)
    VALUE_FIELD_NUMBER: _ClassVar[int]
    value: str
    def __init__(self, value: _Optional[str] = ...) -> None: ...

class NetworkConfig(_message.Message):
    __slots__ = ("name", "driver", "subnet", "ip_range", "gateway", "internal", "labels", "parent", "options", "bandwidth", "delay", "loss")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class OptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    SUBNET_FIELD_NUMBER: _ClassVar[int]
    IP_RANGE_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    BANDWIDTH_FIELD_NUMBER: _ClassVar[int]
    DELAY_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    name: str
    driver: str
    subnet: str
    ip_range: str
    gateway: str
    internal: bool
    labels: _containers.ScalarMap[str, str]
    parent: str
    options: _containers.ScalarMap[str, str]
    bandwidth: str
    delay: str
    loss: str
    def __init__(self, name: _Optional[str] = ..., driver: _Optional[str] = ..., subnet: _Optional[str] = ..., ip_range: _Optional[str] = ..., gateway: _Optional[str] = ..., internal: _Optional[bool] = ..., labels: _Optional[_Mapping[str, str]] = ..., parent: _Optional[str] = ..., options: _Optional[_Mapping[str, str]] = ..., bandwidth: _Optional[str] = ..., delay: _Optional[str] = ..., loss: _Optional[str] = ...) -> None: ...

class PullRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: str
    def __init__(self, ref: _Optional[str] = ...) -> None: ...

class PullProgress(_message.Message):
    __slots__ = ("status", "layer", "progress", "current", "total", "image")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    status: str
    layer: str
    progress: str
    current: int
    total: int
    image: Image
    def __init__(self, status: _Optional[str] = ..., layer: _Optional[str] = ..., progress: _Optional[str] = ..., current: _Optional[int] = ..., total: _Optional[int] = ..., image: _Optional[_Union[Image, _Mapping]] = ...) -> None: ...

class LogsRequest(_message.Message):
    __slots__ = ("filter", "tail", "timestamps")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    TAIL_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    filter: Filter
    tail: int
    timestamps: bool
    def __init__(self, filter: _Optional[_Union[Filter, _Mapping]] = ..., tail: _Optional[int] = ..., timestamps: _Optional[bool] = ...) -> None: ...

class LogsReply(_message.Message):
    __slots__ = ("logs", "truncated")
    LOGS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    logs: str
    truncated: bool
    def __init__(self, logs: _Optional[str] = ..., truncated: _Optional[bool] = ...) -> None: ...

class ExecRequest(_message.Message):
    __slots__ = ("filter", "command", "env", "workdir", "timeout")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FILTER_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    WORKDIR_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    filter: Filter
    command: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    workdir: str
    timeout: float
    def __init__(self, filter: _Optional[_Union[Filter, _Mapping]] = ..., command: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., workdir: _Optional[str] = ..., timeout: _Optional[float] = ...) -> None: ...

class ExecReply(_message.Message):
    __slots__ = ("exit_code", "stdout", "stderr", "stdout_truncated", "stderr_truncated", "timed_out")
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    STDOUT_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    STDERR_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    TIMED_OUT_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    timed_out: bool
    def __init__(self, exit_code: _Optional[int] = ..., stdout: _Optional[str] = ..., stderr: _Optional[str] = ..., stdout_truncated: _Optional[bool] = ..., stderr_truncated: _Optional[bool] = ..., timed_out: _Optional[bool] = ...) -> None: ...

class StatsReply(_message.Message):
    __slots__ = ("cpu_percent", "memory_usage", "memory_limit", "pids", "rx_bytes", "tx_bytes")
    CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USAGE_FIELD_NUMBER: _ClassVar[int]
    MEMORY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    PIDS_FIELD_NUMBER: _ClassVar[int]
    RX_BYTES_FIELD_NUMBER: _ClassVar[int]
    TX_BYTES_FIELD_NUMBER: _ClassVar[int]
    cpu_percent: float
    memory_usage: int
    memory_limit: int
    pids: int
    rx_bytes: int
    tx_bytes: int
    def __init__(self, cpu_percent: _Optional[float] = ..., memory_usage: _Optional[int] = ..., memory_limit: _Optional[int] = ..., pids: _Optional[int] = ..., rx_bytes: _Optional[int] = ..., tx_bytes: _Optional[int] = ...) -> None: ...

class EventsRequest(_message.Message):
    __slots__ = ("kinds", "keepalive")
    KINDS_FIELD_NUMBER: _ClassVar[int]
    KEEPALIVE_FIELD_NUMBER: _ClassVar[int]
    kinds: _containers.RepeatedScalarFieldContainer[str]
    keepalive: float
    def __init__(self, kinds: _Optional[_Iterable[str]] = ..., keepalive: _Optional[float] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("kind", "subject", "time", "data")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    kind: str
    subject: str
    time: float
    data: _containers.ScalarMap[str, str]
    def __init__(self, kind: _Optional[str] = ..., subject: _Optional[str] = ..., time: _Optional[float] = ..., data: _Optional[_Mapping[str, str]] = ...) -> None: ...
