// server_impl.hpp - the server end: an instance registered with the broker over its own link,
// which the broker uses to hand over each client's connection.
//
//   server_link.cpp     the link: listening, clients pushed, a broker that restarted
//                       (re-registration), the close
//   server_connect.cpp  ConnectNamedPipe and DisconnectNamedPipe as resumable steps (connect_op,
//                       disconnect_op)
//   server_instance.cpp CreateNamedPipe and the public server_instance API
//
// Locks: state_mutex guards the instance's state, the link and its receiver. Lock order
// everywhere: read_mutex_, write_mutex_, then state_mutex.
#pragma once

#include "broker_link.hpp"
#include "frame_receiver.hpp"
#include "pipe_channel.hpp"
#include "pipe_ops.hpp"

#include <npipe/named_pipe.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <atomic>
#include <optional>

namespace npipe::detail {

class server_impl final : public pipe_channel {
public:
    os::fd link;
    frame_receiver link_rx; // a link frame that arrived in part
    os::shared_page page;
    mutable std::mutex state_mutex;
    /// Written with state_mutex held; atomic so that a read or write on a connected instance
    /// can see that without the lock (prepare_io's fast path).
    std::atomic<instance_state> state = instance_state::listening;
    std::uint64_t generation = 0;
    // Disconnecting: the instance is disconnected here and the broker's answer to the disconnect
    // (`disconnected`: no client can arrive after it) is still on its way. Nothing else reads
    // the link before it, so that a client handed over before the disconnect is never taken for
    // a later one (finish_disconnecting()).
    bool disconnecting = false;
    std::optional<uid_t> client_uid;
    std::optional<npipe::client_identity> identity;
    // The instance's registration, kept to make it again with a broker that restarted, and the
    // broker the link goes to (a pid and its start time: one process for good).
    protocol::create_instance_request registration;
    pid_t broker_pid = 0;
    std::uint64_t broker_start = 0;

    ~server_impl() override;

    /// ConnectNamedPipe on this thread (a connect_op run to completion). True when the client
    /// had arrived before (ERROR_PIPE_CONNECTED). `listening` (if any) runs, without a lock
    /// held, once the broker has acknowledged the listen and the call waits for a client: from
    /// then on a client that opens is this call's (never ERROR_PIPE_CONNECTED).
    bool connect(std::error_code& ec, const std::function<void()>& listening = {});
    /// DisconnectNamedPipe on this thread (a disconnect_op run to completion).
    void disconnect(std::error_code& ec);
    /// DisconnectNamedPipe's first step: ends the connection here and tells the broker; leaves
    /// the instance disconnecting when it was listening. Takes the instance's locks itself.
    std::error_code begin_disconnect();
    /// Reads the link, never waiting, while the instance is disconnecting. True once it is not
    /// (or the link failed: `ec`); false while the broker's answer is still to come.
    bool finish_disconnecting(std::error_code& ec);

    int native_handle() const noexcept override;

    // ---- the link (server_link.cpp); state_mutex held ----

    protocol::disconnect_request disconnect_counts(bool client_gone, bool closing) const noexcept {
        return {bytes_read(), bytes_written(), client_gone, closing};
    }
    void publish_disconnected(std::uint64_t g) noexcept;
    /// Handles one frame from the link. A client is attached when `keep` (returns true), else
    /// dropped as arriving too late. Acknowledgements are reported through `ack`.
    bool take(frame& f, bool keep, protocol::message_type& ack, std::error_code& ec);
    /// Reads one link frame, waiting for it (the rest of one begun before included).
    bool receive_link_frame(frame& f, std::error_code& ec);
    /// Reads link frames until the acknowledgement `until`; clients met on the way are attached
    /// (`keep`) or dropped. Returns true when a client was attached.
    bool read_until(protocol::message_type until, bool keep, std::error_code& ec);
    /// Tells the broker we listen and learns, exactly, whether a client is already ours.
    bool sync_listen(std::error_code& ec);
    /// Whether the broker process `broker_pid` still serves (asks whoever answers its socket).
    bool broker_still_serves();
    /// After an exchange on the link failed: true when the broker holding it has exited (the
    /// link is dropped then, to be made again by relink()). What the link still holds is read
    /// first: a client pushed before the broker went is attached when `keep`.
    bool lost_broker(bool keep);
    /// One try to register this instance, as it is, with the broker that runs now.
    call_status relink_once(std::error_code& ec);
    /// relink_once(); `patient` keeps trying while no broker runs (up to a minute, releasing
    /// `lock` between tries).
    bool relink(std::error_code& ec, bool patient, std::unique_lock<std::mutex>* lock);
    /// sync_listen(), making the registration again first when the broker restarted meanwhile.
    /// `patient` as for relink().
    bool listen_now(std::error_code& ec, bool patient, std::unique_lock<std::mutex>* lock);
    /// Replaces the link with a new one (its receiver starts afresh).
    void set_link(os::fd next) noexcept;

protected:
    std::error_code prepare_io(io_kind kind) noexcept override;
};

/// CreateNamedPipe: a new instance registered with the broker (a user-scope broker is started
/// when none runs); empty with the error.
std::unique_ptr<server_impl> create_instance(std::string_view name, const server_options& options, std::error_code& ec);

/// DisconnectNamedPipe as resumable steps. The first step ends the connection here (the client's
/// unread data is void from then on) and sends the disconnect on the instance's link, which the
/// broker reads before any request sent after it by any process (it drains instance links
/// first): once DisconnectNamedPipe has returned, every later open, wait or listing finds the
/// instance disconnected. A connected instance is done then. A listening one stays disconnecting
/// until the broker answers that no client can arrive any more (one may be on its way): the step
/// waits for the link to become readable, without holding state_mutex.
/// cancel(): ERROR_OPERATION_ABORTED; a disconnect already sent stands (it cannot be taken
/// back), and the next connect reads the broker's answer before it listens.
class disconnect_op : public pipe_op {
public:
    explicit disconnect_op(server_impl& s) noexcept : s_(s) {}

    step_result step(step_mode = step_mode::never_block) noexcept;
    void cancel() noexcept;

private:
    server_impl& s_;
    bool sent_ = false;
};

/// ConnectNamedPipe as resumable steps. The step takes state_mutex itself; the wait for a client
/// is a wait for the link to become readable, with the lock released. A broker that went away
/// is waited for (re-registration tried with a growing pause, up to a minute) unless the handle
/// is PIPE_NOWAIT. The control-plane exchanges inside a step (listen and its acknowledgement,
/// a re-registration) are answered by the broker at once and run to their end within the step.
/// cancel(): ERROR_OPERATION_ABORTED; the instance stays listening (as on Windows), and a
/// client that arrives later is picked up by the next connect or I/O.
class connect_op : public pipe_op {
public:
    explicit connect_op(server_impl& s) noexcept : s_(s) {}

    step_result step(step_mode = step_mode::never_block) noexcept;
    void cancel() noexcept;
    /// The client had arrived before (Windows: FALSE with ERROR_PIPE_CONNECTED, a success).
    bool already_connected() const noexcept { return already_; }
    /// The listen is acknowledged; what is left is the wait for a client.
    bool listening() const noexcept { return waiting_; }

private:
    // With state_mutex held:
    step_result start();
    step_result wait_for_client();
    /// Tells the broker we listen; a complete() result that has not completed the operation
    /// means "listening, go on".
    step_result listen();
    /// A connected or closing instance: success, or ERROR_NO_DATA when its client has gone.
    step_result client_is_here();
    /// No broker to register with now: try again later when patient, else fail with `ec`.
    step_result relink_later(const std::error_code& ec, bool patient);

    server_impl& s_;
    bool waiting_ = false; // listening is arranged: what is left is the wait for a client
    std::optional<std::chrono::steady_clock::time_point> give_up_; // patient re-registration
    std::chrono::milliseconds pause_{0};
    bool already_ = false;
};

} // namespace npipe::detail
