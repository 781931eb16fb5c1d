// npipe/event_fields.hpp - the names of the fields in npiped's events (what monitor_events()
// delivers, the event file and the journal carry), in one place for the broker that writes
// them and every program that reads them.
//
// Where Sysmon has the concept, the name is Sysmon's (EventType, UtcTime, ProcessGuid, ProcessId,
// PipeName, Image, User), so Sigma rules written for Sysmon's pipe events run unchanged.
// EventId is Sysmon's 17 (a pipe or an instance created) and 18 (a client connected), npipe's
// own numbers otherwise. Everything else is npipe's.
//
// Thread safety: constants only.
#pragma once

namespace npipe::event_field {

// Every event
inline constexpr const char* event_id = "EventId";
inline constexpr const char* event_type = "EventType"; ///< see event_type:: below
inline constexpr const char* sequence = "Sequence";    ///< 1, 2, ... in the broker's ring
inline constexpr const char* utc_time = "UtcTime";     ///< "2026-11-24 05:50:01.123"
inline constexpr const char* unix_time_ms = "UnixTimeMs";
inline constexpr const char* result = "Result";        ///< "success", "denied" or "timeout"
inline constexpr const char* reason = "Reason";
inline constexpr const char* error = "Error";          ///< the Win32 error's text, on refusals
inline constexpr const char* remote = "Remote";        ///< the actor came over the network

// An SMB client that came through Samba's smbd (Sysmon has no such fields): the actor of a
// connect or a denied open, the peer of a disconnect. Only on events that have one.
inline constexpr const char* remote_account = "RemoteAccount";   ///< DOMAIN\account
inline constexpr const char* remote_computer = "RemoteComputer"; ///< the client computer's name
inline constexpr const char* remote_address = "RemoteAddress";   ///< its IP address
inline constexpr const char* remote_port = "RemotePort";         ///< its TCP port

// The process that acted
inline constexpr const char* process_guid = "ProcessGuid";
inline constexpr const char* process_id = "ProcessId";
inline constexpr const char* image = "Image";
inline constexpr const char* user = "User";
inline constexpr const char* uid = "Uid";
inline constexpr const char* gids = "Gids";

// The pipe
inline constexpr const char* pipe_name = "PipeName"; ///< `\NAME`, as Sysmon writes it
inline constexpr const char* owner_sid = "OwnerSid";
inline constexpr const char* sddl = "Sddl";
inline constexpr const char* previous_sddl = "PreviousSddl";
inline constexpr const char* instances = "Instances";
inline constexpr const char* max_instances = "MaxInstances";
inline constexpr const char* pipe_type = "PipeType"; ///< "Byte" or "Message"

// The other end of a connection
inline constexpr const char* peer_process_id = "PeerProcessId";
inline constexpr const char* peer_process_guid = "PeerProcessGuid";
inline constexpr const char* peer_uid = "PeerUid";
inline constexpr const char* peer_image = "PeerImage";
inline constexpr const char* peer_user = "PeerUser";

// Opens and connections
inline constexpr const char* desired_access = "DesiredAccess";
inline constexpr const char* granted_access = "GrantedAccess";
inline constexpr const char* impersonation_level = "ImpersonationLevel";
inline constexpr const char* duration_ms = "DurationMs";
inline constexpr const char* bytes_from_client = "BytesFromClient";
inline constexpr const char* bytes_to_client = "BytesToClient";

// Sigma rules (alerts, and the rules named on the event that triggered them)
inline constexpr const char* rule_name = "RuleName";
inline constexpr const char* rule_title = "RuleTitle";
inline constexpr const char* rule_id = "RuleId";
inline constexpr const char* rule_author = "RuleAuthor";
inline constexpr const char* rule_level = "RuleLevel";
inline constexpr const char* rule_file = "RuleFile";
inline constexpr const char* action = "Action"; ///< "alert" or "prevented"
inline constexpr const char* trigger_event_type = "TriggerEventType";

// The broker's own start and stop
inline constexpr const char* scope = "Scope";
inline constexpr const char* runtime_directory = "RuntimeDirectory";
inline constexpr const char* kept_names = "KeptNames";
inline constexpr const char* pipes = "Pipes";

} // namespace npipe::event_field

namespace npipe::event_type {
inline constexpr const char* create_pipe = "CreatePipe";   ///< Sysmon EID 17
inline constexpr const char* connect_pipe = "ConnectPipe"; ///< Sysmon EID 18
inline constexpr const char* disconnect_pipe = "DisconnectPipe";
inline constexpr const char* open_denied = "OpenDenied";
inline constexpr const char* create_denied = "CreateDenied";
inline constexpr const char* squatting_attempt = "SquattingAttempt";
inline constexpr const char* wait_timeout = "WaitTimeout";
inline constexpr const char* pipe_gone = "PipeGone";
inline constexpr const char* security_change = "SecurityChange";
inline constexpr const char* alert = "Alert";
inline constexpr const char* broker_started = "BrokerStarted";
inline constexpr const char* broker_stopped = "BrokerStopped";
} // namespace npipe::event_type
