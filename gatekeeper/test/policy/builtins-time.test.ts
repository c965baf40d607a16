// time.parse_ns / time.format with Go layouts and time zones, and the other time.* builtins, against OPA's Go evaluator.
import t from 'tap';
import { agreeWithGo, exactNs } from './go-agreement.js';

const T = '1709209845123456789'; // 2024-02-29T12:30:45.123456789Z

const parse = (layout: string, value: string) => exactNs(`time.parse_ns(${JSON.stringify(layout)}, ${JSON.stringify(value)})`);

t.test('time.parse_ns follows Go time.Parse', async (t) => {
  await agreeWithGo(t, [
    parse('2006-01-02T15:04:05Z07:00', '2024-02-29T12:30:45+02:00'),
    parse('2006-01-02T15:04:05Z07:00', '2024-02-29T12:30:45.987654321Z'),
    parse('RFC3339', '2024-02-29T12:30:45-07:00'),
    parse('RFC3339Nano', '2024-02-29T12:30:45.5Z'),
    parse('RFC1123', 'Thu, 29 Feb 2024 12:30:45 UTC'),
    parse('RFC1123', 'Thu, 29 Feb 2024 12:30:45 PST'),
    parse('RFC1123Z', 'Thu, 29 Feb 2024 12:30:45 +0530'),
    parse('RFC822', '29 Feb 24 12:30 GMT'),
    parse('RFC822Z', '29 Feb 24 12:30 -0800'),
    parse('RFC850', 'Thursday, 29-Feb-24 12:30:45 CET'),
    parse('ANSIC', 'Thu Feb 29 12:30:45 2024'),
    parse('ANSIC', 'Fri Mar  1 12:30:45 2024'),
    parse('UnixDate', 'Thu Feb 29 12:30:45 GMT+3 2024'),
    parse('RubyDate', 'Thu Feb 29 12:30:45 -0700 2024'),
    parse('Jan _2 15:04:05', 'Feb  9 01:02:03'),
    parse('Jan _2 15:04:05.000', 'Feb 29 01:02:03.250'),
    parse('2006-01-02', '2024-02-29'),
    parse('2006-01-02 15:04:05', '1969-12-31 23:59:59'),
    parse('2006-01-02 15:04:05', '1969-12-31 23:59:59.5'),
    parse('02/01/06 3:04PM', '29/02/24 12:30AM'),
    parse('02/01/06 3:04pm', '29/02/24 1:30pm'),
    parse('January 2, 2006', 'february 29, 2024'),
    parse('Monday 2006-002', 'Thursday 2024-060'),
    parse('2006 __2', '2024  61'),
    parse('15:04:05,000', '01:02:03,456'),
    parse('2006-01-02T15:04:05.999Z07:00:00', '2024-02-29T12:30:45.1234+01:30:15'),
    parse('2006-01-02T15:04:05-07', '2024-02-29T12:30:45-03'),
    parse('2006-01-02 MST', '2024-02-29 ChST'),
    parse('2006-01-02 MST', '2024-02-29 +03'),
    parse('2006-01-02T15:04:05Z07:00', '0001-01-01T00:00:00Z'),
    parse('2006-01-02', '2262-04-11'),
    parse('2006-01-02', '2262-04-12'),
    parse('2006-01-02', '2023-02-29'),
    parse('2006-01-02', '2024-13-01'),
    parse('2006-01-02', '2024-1-01'),
    parse('2006-01-02', '2024-01-01 extra'),
    parse('2006-01-02', 'not a date'),
    parse('15:04', '24:00'),
    parse('15:04:05', '12:60:00'),
    parse('2006-002', '2023-366'),
    parse('Jan 2006', 'Foo 2024'),
    parse('2006-01-02T15:04:05Z07:00', '2024-02-29T12:30:45+25:00'),
    parse('2006-01-02 MST', '2024-02-29 utc'),
    parse('2006-01-02 "quoted"', '2024-02-29 «x»'),
    'time.parse_rfc3339_ns("2024-02-29T12:30:45.123456789+02:00") == 1709202645123456789',
    'time.parse_rfc3339_ns("2024-02-29 12:30:45Z")',
    'time.parse_rfc3339_ns("not a time")',
  ]);
});

t.test('time.format: Go layouts and time zones', async (t) => {
  await agreeWithGo(t, [
    `time.format(${T})`,
    `time.format([${T}, "UTC"])`,
    `time.format([${T}, "Europe/Paris"])`,
    `time.format([${T}, "America/New_York", "Mon Jan _2 15:04:05 MST 2006"])`,
    `time.format([${T}, "Europe/Paris", "RFC1123"])`,
    `time.format([${T}, "Asia/Kolkata", "RFC822Z"])`,
    `time.format([${T}, "Asia/Dubai", "2006-01-02 15:04 MST"])`,
    `time.format([${T}, "Australia/Lord_Howe", "2006-01-02T15:04:05Z07:00 MST"])`,
    `time.format([${T}, "UTC", "RFC3339"])`,
    `time.format([${T}, "", "2006-01-02T15:04:05.000Z07:00"])`,
    `time.format([${T}, "UTC", "Jan _2 15:04:05.000000"])`,
    `time.format([${T}, "UTC", "Monday, January 2 2006 3:04:05 PM, day 002 (__2) .9 ,99"])`,
    `time.format([${T}, "UTC", "06 1 2 3 4 5 pm Z0700 Z07 -07 -070000 -07:00:00 Z07:00:00"])`,
    `time.format([${T}, "America/Los_Angeles", "Z0700 Z07 -07 -070000 -07:00:00 Z07:00:00"])`,
    `time.format([${T}, "Europe/Paris", "Monthly Mondays January"])`,
    `time.format([1720000000000000000, "Europe/London", "2006-01-02 15:04 MST"])`,
    `time.format([4102444800000000000, "America/New_York", "2006-01-02 15:04 MST"])`,
    `time.format([4118000000000000000, "America/New_York", "2006-01-02 15:04 MST"])`,
    `time.format([-2208988800000000000, "Europe/Paris", "2006-01-02 15:04:05 MST -07:00:00"])`,
    `time.format([-1, "UTC", "2006-01-02 15:04:05.000000000"])`,
    `time.format([${T}, "Local", "2006-01-02 15:04 MST"])`,
    `time.format([${T}, "Mars/Olympus"])`,
    `time.format([${T}, "europe/paris"])`,
    `time.format([${T}, "../etc/passwd"])`,
    `time.format([1.5, "UTC"])`,
  ]);
});

t.test('time.date, clock, weekday, add_date, diff in zones', async (t) => {
  await agreeWithGo(t, [
    `time.date([${T}, "Pacific/Kiritimati"])`,
    `time.clock([${T}, "Asia/Kathmandu"])`,
    `time.weekday([${T}, "Pacific/Pago_Pago"])`,
    `time.date([${T}, "Nowhere/Zone"])`,
    exactNs(`time.add_date(${T}, 1, 0, 0)`),
    exactNs(`time.add_date(${T}, 0, 13, -400)`),
    exactNs(`time.add_date(-${T}, 0, -1, 0)`),
    `time.add_date(${T}, 1000, 0, 0)`,
    `time.diff([${T}, "Asia/Tokyo"], [1609459200000000000, "America/New_York"])`,
    `time.diff(${T}, 1706745600000000000)`,
  ]);
});
