#include "drivers/virtual/cmos_rtc.hpp"

namespace cmos_rtc {
namespace {

constexpr uint64_t kNsPerSecond = 1000000000;
constexpr uint64_t kUipWindowNs = 244000;  // data sheet: UIP rises at least 244 us before the update
constexpr int64_t kSecondsPerDay = 86400;

// NVRAM layout as QEMU's pc_cmos_init writes it (hw/i386/pc.c), read by SeaBIOS.
constexpr uint8_t kEquipment = 0x14, kBaseMemLow = 0x15, kExtMemLow = 0x17, kExtMem2Low = 0x30,
                  kHighMemLow = 0x34, kAbove4gLow = 0x5b, kCpusMinusOne = 0x5f, kChecksumHigh = 0x2e;

int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Proleptic Gregorian calendar <-> days since 1970-01-01 (H. Hinnant, "chrono-Compatible
// Low-Level Date Algorithms").
int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t& y, int64_t& m, int64_t& d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = yoe + era * 400 + (m <= 2);
}

int64_t clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

// The 32.768 kHz time base, counted since the epoch.
uint64_t base_ticks(uint64_t ns) { return (ns / kNsPerSecond) * 32768 + (ns % kNsPerSecond) * 32768 / kNsPerSecond; }

}  // namespace

CmosRtc::CmosRtc(TimeSource time, const Config& config) : time_(time)
{
    cmos_[kRegA] = 0x26;  // 32.768 kHz time base, 1024 Hz periodic rate
    cmos_[kRegB] = kRegB24h;  // BCD, 24-hour
    cmos_[kEquipment] = 0x02;  // maths coprocessor present, no floppy, EGA/VGA

    uint32_t base_kib = 640;
    cmos_[kBaseMemLow] = uint8_t(base_kib);
    cmos_[kBaseMemLow + 1] = uint8_t(base_kib >> 8);
    uint64_t below_kib = config.ram_below_4g / 1024;
    uint64_t ext_kib = below_kib > 1024 ? below_kib - 1024 : 0;
    if (ext_kib > 0xffff) ext_kib = 0xffff;
    cmos_[kExtMemLow] = cmos_[kExtMem2Low] = uint8_t(ext_kib);
    cmos_[kExtMemLow + 1] = cmos_[kExtMem2Low + 1] = uint8_t(ext_kib >> 8);
    uint64_t high = config.ram_below_4g > (16ull << 20) ? (config.ram_below_4g - (16ull << 20)) >> 16 : 0;
    if (high > 0xffff) high = 0xffff;
    cmos_[kHighMemLow] = uint8_t(high);
    cmos_[kHighMemLow + 1] = uint8_t(high >> 8);
    uint64_t above = config.ram_above_4g >> 16;
    if (above > 0xffffff) above = 0xffffff;
    cmos_[kAbove4gLow] = uint8_t(above);
    cmos_[kAbove4gLow + 1] = uint8_t(above >> 8);
    cmos_[kAbove4gLow + 2] = uint8_t(above >> 16);
    cmos_[kCpusMinusOne] = uint8_t(config.cpus ? config.cpus - 1 : 0);

    // IBM AT checksum over 0x10..0x2d, big-endian at 0x2e.
    uint16_t sum = 0;
    for (int i = 0x10; i <= 0x2d; ++i) sum = uint16_t(sum + cmos_[i]);
    cmos_[kChecksumHigh] = uint8_t(sum >> 8);
    cmos_[kChecksumHigh + 1] = uint8_t(sum);

    last_c_read_ns_ = now();
}

io_bus::Handler CmosRtc::handler() { return io_bus::Handler{kIndexPort, 2, this, &CmosRtc::io_in, &CmosRtc::io_out}; }

uint32_t CmosRtc::io_in(void* context, uint16_t port, uint8_t size)
{
    uint32_t value = 0;
    for (uint8_t i = 0; i < size; ++i) value |= uint32_t(static_cast<CmosRtc*>(context)->read(uint16_t(port + i))) << (8 * i);
    return value;
}

void CmosRtc::io_out(void* context, uint16_t port, uint8_t size, uint32_t value)
{
    for (uint8_t i = 0; i < size; ++i) static_cast<CmosRtc*>(context)->write(uint16_t(port + i), uint8_t(value >> (8 * i)));
}

uint8_t CmosRtc::read(uint16_t port)
{
    if (port == kIndexPort) return 0xff;  // the index register is write-only
    return read_register(index_);
}

void CmosRtc::write(uint16_t port, uint8_t value)
{
    if (port == kIndexPort) {
        index_ = value & 0x7f;
        nmi_disabled_ = value & 0x80;
        return;
    }
    write_register(index_, value);
}

uint8_t CmosRtc::encode(int64_t value) const
{
    if (cmos_[kRegB] & kRegBBinary) return uint8_t(value);
    return uint8_t(((value / 10) % 10) << 4 | (value % 10));
}

int64_t CmosRtc::decode(uint8_t value) const
{
    if (cmos_[kRegB] & kRegBBinary) return value;
    return (value >> 4) * 10 + (value & 0xf);
}

CmosRtc::DateTime CmosRtc::now_fields(uint64_t ns) const
{
    int64_t seconds = int64_t(ns / kNsPerSecond) + offset_s_;
    int64_t days = floor_div(seconds, kSecondsPerDay);
    int64_t in_day = seconds - days * kSecondsPerDay;
    DateTime t{};
    civil_from_days(days, t.year, t.month, t.day);
    t.hour = in_day / 3600;
    t.minute = in_day / 60 % 60;
    t.second = in_day % 60;
    return t;
}

void CmosRtc::apply(const DateTime& t, uint64_t ns)
{
    int64_t days = days_from_civil(clamp(t.year, 0, 9999), clamp(t.month, 1, 12), clamp(t.day, 1, 31));
    int64_t seconds = days * kSecondsPerDay + clamp(t.hour, 0, 23) * 3600 + clamp(t.minute, 0, 59) * 60 +
                      clamp(t.second, 0, 59);
    offset_s_ = seconds - int64_t(ns / kNsPerSecond);
}

// Sunday = 1 (the PC BIOS convention), shifted by whatever numbering the guest wrote.
uint8_t CmosRtc::weekday(const DateTime& t) const
{
    int64_t days = days_from_civil(clamp(t.year, 0, 9999), clamp(t.month, 1, 12), clamp(t.day, 1, 31));
    int64_t w = days + 4 - floor_div(days + 4, 7) * 7;  // 1970-01-01 was a Thursday
    return uint8_t((w + weekday_offset_) % 7 + 1);
}

uint8_t CmosRtc::read_register(uint8_t index)
{
    switch (index) {
    case kSeconds:
    case kMinutes:
    case kHours:
    case kWeekday:
    case kDay:
    case kMonth:
    case kYear:
    case kCentury: {
        DateTime t = (cmos_[kRegB] & kRegBSet) ? held_ : now_fields(now());
        switch (index) {
        case kSeconds: return encode(t.second);
        case kMinutes: return encode(t.minute);
        case kHours:
            if (cmos_[kRegB] & kRegB24h) return encode(t.hour);
            return uint8_t(encode(t.hour % 12 == 0 ? 12 : t.hour % 12) | (t.hour >= 12 ? 0x80 : 0));
        case kWeekday: return encode(weekday(t));
        case kDay: return encode(t.day);
        case kMonth: return encode(t.month);
        case kYear: return encode(t.year % 100);
        default: return encode(t.year / 100 % 100);
        }
    }
    case kRegA: {
        uint64_t ns = now();
        bool uip = !(cmos_[kRegB] & kRegBSet) && ns % kNsPerSecond >= kNsPerSecond - kUipWindowNs;
        return uint8_t((cmos_[kRegA] & 0x7f) | (uip ? kRegAUip : 0));
    }
    case kRegC: {
        // Flags raised since the last read; the read clears them.
        uint64_t ns = now();
        uint8_t flags = 0;
        if (!(cmos_[kRegB] & kRegBSet) && ns / kNsPerSecond != last_c_read_ns_ / kNsPerSecond) flags |= kRegCUf;
        unsigned rate = cmos_[kRegA] & 0xf;
        if (rate) {
            // Rates 1 and 2 are 256 and 128 Hz; 3..15 are 32768 >> (rate - 1) Hz.
            unsigned shift = rate <= 2 ? rate + 6 : rate - 1;
            if ((base_ticks(ns) >> shift) != (base_ticks(last_c_read_ns_) >> shift)) flags |= kRegCPf;
        }
        uint8_t b = cmos_[kRegB];
        if (((flags & kRegCPf) && (b & kRegBPie)) || ((flags & kRegCUf) && (b & kRegBUie))) flags |= kRegCIrqf;
        last_c_read_ns_ = ns;
        return flags;
    }
    case kRegD:
        return 0x80;  // VRT: the battery is fine
    default:
        return cmos_[index & 0x7f];
    }
}

void CmosRtc::write_register(uint8_t index, uint8_t value)
{
    switch (index) {
    case kSeconds:
    case kMinutes:
    case kHours:
    case kWeekday:
    case kDay:
    case kMonth:
    case kYear:
    case kCentury: {
        uint64_t ns = now();
        bool set = cmos_[kRegB] & kRegBSet;
        DateTime t = set ? held_ : now_fields(ns);
        switch (index) {
        case kSeconds: t.second = decode(value); break;
        case kMinutes: t.minute = decode(value); break;
        case kHours:
            if (cmos_[kRegB] & kRegB24h) t.hour = decode(value);
            else t.hour = decode(value & 0x7f) % 12 + ((value & 0x80) ? 12 : 0);
            break;
        case kWeekday: {
            // An independent counter on real hardware: remember the guest's numbering.
            weekday_offset_ = 0;
            int64_t computed = weekday(t);
            weekday_offset_ = uint8_t((clamp(decode(value), 1, 7) - computed + 7) % 7);
            return;
        }
        case kDay: t.day = decode(value); break;
        case kMonth: t.month = decode(value); break;
        case kYear: t.year = t.year - t.year % 100 + decode(value) % 100; break;
        default: t.year = decode(value) % 100 * 100 + t.year % 100; break;
        }
        if (set) held_ = t;
        else apply(t, ns);
        return;
    }
    case kRegA:
        cmos_[kRegA] = value & 0x7f;  // UIP is read-only
        return;
    case kRegB: {
        uint8_t old = cmos_[kRegB];
        if (value & kRegBSet) value &= uint8_t(~kRegBUie);  // SET clears UIE (data sheet)
        uint64_t ns = now();
        if (!(old & kRegBSet) && (value & kRegBSet)) held_ = now_fields(ns);
        if ((old & kRegBSet) && !(value & kRegBSet)) apply(held_, ns);
        cmos_[kRegB] = value;
        return;
    }
    case kRegC:
    case kRegD:
        return;  // read-only
    default:
        cmos_[index & 0x7f] = value;  // alarms and NVRAM
        return;
    }
}

}  // namespace cmos_rtc
